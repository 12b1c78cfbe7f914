PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "Branch" (
  "Branch_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Open_Year" INTEGER,
  "Floor_Area" REAL
);
CREATE TABLE "Author" (
  "Author_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Nationality" TEXT,
  "Birth_Year" INTEGER
);
CREATE TABLE "Book" (
  "Book_ID" INTEGER PRIMARY KEY,
  "Title" TEXT,
  "Author_ID" INTEGER,
  "Genre" TEXT,
  "Pages" INTEGER,
  "Price" REAL,
  "Publish_Year" INTEGER,
  FOREIGN KEY ("Author_ID") REFERENCES "Author"("Author_ID")
);
CREATE TABLE "Member" (
  "Member_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Membership_Type" TEXT,
  "Home_Branch_ID" INTEGER,
  FOREIGN KEY ("Home_Branch_ID") REFERENCES "Branch"("Branch_ID")
);
CREATE TABLE "Loan" (
  "Loan_ID" INTEGER PRIMARY KEY,
  "Book_ID" INTEGER,
  "Member_ID" INTEGER,
  "Branch_ID" INTEGER,
  "Loan_Date" DATE,
  "Days_Kept" INTEGER,
  FOREIGN KEY ("Book_ID") REFERENCES "Book"("Book_ID"),
  FOREIGN KEY ("Member_ID") REFERENCES "Member"("Member_ID"),
  FOREIGN KEY ("Branch_ID") REFERENCES "Branch"("Branch_ID")
);
INSERT INTO "Branch" VALUES (1, 'Riverside Branch', 'Lakeview', 1998, 1250.5);
INSERT INTO "Branch" VALUES (2, 'Old Mill Branch', 'Lakeview', 1975, 980.0);
INSERT INTO "Branch" VALUES (3, 'Harbor Point Library', 'Port Alden', 2005, 1600.0);
INSERT INTO "Branch" VALUES (4, 'Maple Street Library', 'Greenfield', 1962, 720.5);
INSERT INTO "Branch" VALUES (5, 'Northgate Branch', 'Greenfield', 2012, 1420.0);
INSERT INTO "Branch" VALUES (6, 'Cedar Hill Library', 'Port Alden', 1989, 860.0);
INSERT INTO "Branch" VALUES (7, 'Sunset Reading Room', 'Brookvale', 2018, 430.0);
INSERT INTO "Branch" VALUES (8, 'Central Library', 'Lakeview', 1931, 3100.0);
INSERT INTO "Author" VALUES (1, 'Helena Marsh', 'British', 1958);
INSERT INTO "Author" VALUES (2, 'Tomas Varga', 'Hungarian', 1971);
INSERT INTO "Author" VALUES (3, 'Amara Osei', 'Ghanaian', 1984);
INSERT INTO "Author" VALUES (4, 'Lucas Ferreira', 'Brazilian', 1966);
INSERT INTO "Author" VALUES (5, 'Ingrid Solberg', 'Norwegian', 1949);
INSERT INTO "Author" VALUES (6, 'Kenji Morimoto', 'Japanese', 1977);
INSERT INTO "Author" VALUES (7, 'Clara Dunmore', 'American', 1990);
INSERT INTO "Author" VALUES (8, 'Rafael Ortiz', 'Mexican', 1962);
INSERT INTO "Author" VALUES (9, 'Priya Raman', 'Indian', 1981);
INSERT INTO "Author" VALUES (10, 'Olivia Brandt', 'American', 1973);
INSERT INTO "Author" VALUES (11, 'Mateo Quiroga', 'Argentine', NULL);
INSERT INTO "Author" VALUES (12, 'Sofia Lindqvist', 'Swedish', 1995);
INSERT INTO "Author" VALUES (13, 'Noel Ashby', 'British', 1986);
INSERT INTO "Book" VALUES (1, 'The Glass Orchard', 1, 'Fiction', 320, 18.99, 2004);
INSERT INTO "Book" VALUES (2, 'Winter Ledger', 1, 'Mystery', 284, 15.5, 2011);
INSERT INTO "Book" VALUES (3, 'Salt and Ember', 2, 'Fiction', 410, 22.0, 2015);
INSERT INTO "Book" VALUES (4, 'Bridges of Copper', 3, 'History', 512, 29.95, 2019);
INSERT INTO "Book" VALUES (5, 'A Quiet Algorithm', 6, 'Science', 298, 24.5, 2020);
INSERT INTO "Book" VALUES (6, 'Night Ferry to Varna', 4, 'Travel', 236, 16.0, 2009);
INSERT INTO "Book" VALUES (7, 'The Lantern Maker''s Son', 5, 'Fiction', 388, 19.99, 1998);
INSERT INTO "Book" VALUES (8, 'Ocean Arithmetic', 6, 'Science', 344, 27.0, 2016);
INSERT INTO "Book" VALUES (9, 'Red Clay Roads', 8, 'History', 456, 25.0, 2007);
INSERT INTO "Book" VALUES (10, 'Small Hours', 7, 'Poetry', 96, 12.0, 2021);
INSERT INTO "Book" VALUES (11, 'The Fennel Garden', 9, 'Cooking', 210, 21.5, 2018);
INSERT INTO "Book" VALUES (12, 'Silent Quarry', 1, 'Mystery', 302, 14.99, 2016);
INSERT INTO "Book" VALUES (13, 'Paper Comets', 7, 'Poetry', 120, 11.5, 2023);
INSERT INTO "Book" VALUES (14, 'Frontier of Looms', 8, 'History', 498, 31.0, 2012);
INSERT INTO "Book" VALUES (15, 'Harbor Lights Cookbook', 10, 'Cooking', 256, 23.0, 2014);
INSERT INTO "Book" VALUES (16, 'The Violet Cipher', 2, 'Mystery', 330, 17.25, 2019);
INSERT INTO "Book" VALUES (17, 'Under Northern Skies', 5, 'Travel', 270, 18.0, 2003);
INSERT INTO "Book" VALUES (18, 'Equations of Rain', 12, 'Science', 312, 26.0, 2022);
INSERT INTO "Book" VALUES (19, 'The Tin Violin', 4, 'Fiction', 365, 20.0, 2013);
INSERT INTO "Book" VALUES (20, 'Orchard Tales', 11, 'Fiction', 188, NULL, 2001);
INSERT INTO "Book" VALUES (21, 'Desert Compass', 3, 'Travel', 240, 16.5, 2017);
INSERT INTO "Book" VALUES (22, 'Kitchen of Tides', 9, 'Cooking', 230, 22.75, 2021);
INSERT INTO "Member" VALUES (1, 'Ava Thornton', 34, 'Standard', 1);
INSERT INTO "Member" VALUES (2, 'Ben Okafor', 22, 'Student', 3);
INSERT INTO "Member" VALUES (3, 'Chloe Reyes', 67, 'Senior', 2);
INSERT INTO "Member" VALUES (4, 'Daniel Kowalski', 45, 'Premium', 8);
INSERT INTO "Member" VALUES (5, 'Elena Petrova', 29, 'Standard', 5);
INSERT INTO "Member" VALUES (6, 'Farah Haddad', 19, 'Student', 4);
INSERT INTO "Member" VALUES (7, 'George Whitfield', 72, 'Senior', 8);
INSERT INTO "Member" VALUES (8, 'Hana Sato', 38, 'Premium', 3);
INSERT INTO "Member" VALUES (9, 'Isaac Mendel', 51, 'Standard', 6);
INSERT INTO "Member" VALUES (10, 'Julia Carvalho', 24, 'Student', 1);
INSERT INTO "Member" VALUES (11, 'Kofi Mensah', 41, 'Premium', 5);
INSERT INTO "Member" VALUES (12, 'Laura Bianchi', 63, 'Senior', 7);
INSERT INTO "Member" VALUES (13, 'Marco Rossi', 30, 'Standard', 8);
INSERT INTO "Member" VALUES (14, 'Nadia Karim', 27, NULL, 2);
INSERT INTO "Member" VALUES (15, 'Oscar Lindgren', 55, 'Premium', 1);
INSERT INTO "Member" VALUES (16, 'Priya Nair', 21, 'Student', 3);
INSERT INTO "Loan" VALUES (1, 15, 14, 8, '2023-08-17', 21);
INSERT INTO "Loan" VALUES (2, 7, 3, 8, '2023-11-20', 28);
INSERT INTO "Loan" VALUES (3, 6, 2, 8, '2023-05-05', 5);
INSERT INTO "Loan" VALUES (4, 18, 13, 1, '2023-10-13', 17);
INSERT INTO "Loan" VALUES (5, 6, 10, 1, '2023-09-03', 4);
INSERT INTO "Loan" VALUES (6, 2, 4, 4, '2023-10-01', 27);
INSERT INTO "Loan" VALUES (7, 15, 6, 8, '2023-10-27', NULL);
INSERT INTO "Loan" VALUES (8, 7, 9, 4, '2023-11-10', 18);
INSERT INTO "Loan" VALUES (9, 1, 11, 2, '2023-08-21', 11);
INSERT INTO "Loan" VALUES (10, 14, 9, 2, '2023-12-09', 13);
INSERT INTO "Loan" VALUES (11, 8, 9, 5, '2023-01-03', 21);
INSERT INTO "Loan" VALUES (12, 4, 7, 2, '2023-05-13', 5);
INSERT INTO "Loan" VALUES (13, 1, 14, 1, '2023-04-07', 4);
INSERT INTO "Loan" VALUES (14, 16, 7, 7, '2023-07-03', 21);
INSERT INTO "Loan" VALUES (15, 7, 13, 5, '2023-06-03', 12);
INSERT INTO "Loan" VALUES (16, 11, 1, 7, '2023-02-05', 10);
INSERT INTO "Loan" VALUES (17, 4, 1, 1, '2024-04-26', 18);
INSERT INTO "Loan" VALUES (18, 6, 11, 4, '2024-04-17', 9);
INSERT INTO "Loan" VALUES (19, 5, 7, 7, '2024-01-13', 16);
INSERT INTO "Loan" VALUES (20, 7, 1, 5, '2024-05-10', 3);
INSERT INTO "Loan" VALUES (21, 7, 3, 7, '2024-05-21', 21);
INSERT INTO "Loan" VALUES (22, 4, 1, 3, '2024-02-15', 11);
INSERT INTO "Loan" VALUES (23, 1, 13, 6, '2024-03-13', NULL);
INSERT INTO "Loan" VALUES (24, 3, 2, 2, '2024-02-19', 23);
INSERT INTO "Loan" VALUES (25, 8, 1, 6, '2024-03-20', 17);
INSERT INTO "Loan" VALUES (26, 5, 10, 8, '2024-05-05', 15);
INSERT INTO "Loan" VALUES (27, 6, 11, 3, '2024-03-08', 22);
INSERT INTO "Loan" VALUES (28, 8, 12, 4, '2024-02-24', 23);
INSERT INTO "Loan" VALUES (29, 18, 4, 7, '2024-04-20', NULL);
INSERT INTO "Loan" VALUES (30, 3, 7, 8, '2024-01-04', 4);
COMMIT;
