BEGIN TRANSACTION;
CREATE TABLE "Author" (
  "Author_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Nationality" TEXT,
  "Birth_Year" INTEGER
);
INSERT INTO "Author" VALUES(1,'Ingrid Solberg','Ghanaian',1971);
INSERT INTO "Author" VALUES(2,'Mateo Quiroga','Argentine',NULL);
INSERT INTO "Author" VALUES(3,'Olivia Brandt','American',1981);
INSERT INTO "Author" VALUES(4,'Lucas Ferreira','Japanese',1962);
INSERT INTO "Author" VALUES(5,'Kenji Morimoto','British',1986);
INSERT INTO "Author" VALUES(6,'Noel Ashby','Hungarian',1995);
INSERT INTO "Author" VALUES(7,'Priya Raman','Brazilian',1973);
INSERT INTO "Author" VALUES(8,'Clara Dunmore','Norwegian',1949);
INSERT INTO "Author" VALUES(9,'Helena Marsh','Indian',1984);
INSERT INTO "Author" VALUES(10,'Amara Osei','British',1966);
INSERT INTO "Author" VALUES(11,'Rafael Ortiz','American',1958);
INSERT INTO "Author" VALUES(12,'Tomas Varga','Swedish',1977);
INSERT INTO "Author" VALUES(13,'Sofia Lindqvist','Mexican',1990);
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
INSERT INTO "Book" VALUES(1,'Salt and Ember',7,'Mystery',270,22.0,2016);
INSERT INTO "Book" VALUES(2,'The Violet Cipher',6,'Poetry',302,21.5,2014);
INSERT INTO "Book" VALUES(3,'Bridges of Copper',8,'Travel',388,19.99,2021);
INSERT INTO "Book" VALUES(4,'The Glass Orchard',2,'Poetry',236,16.0,2019);
INSERT INTO "Book" VALUES(5,'Paper Comets',11,'Fiction',456,25.0,2004);
INSERT INTO "Book" VALUES(6,'Ocean Arithmetic',2,'Cooking',120,22.75,2023);
INSERT INTO "Book" VALUES(7,'The Lantern Maker''s Son',1,'Mystery',330,18.99,2020);
INSERT INTO "Book" VALUES(8,'Kitchen of Tides',8,'Cooking',188,16.5,2011);
INSERT INTO "Book" VALUES(9,'Winter Ledger',6,'Travel',284,NULL,2013);
INSERT INTO "Book" VALUES(10,'The Fennel Garden',12,'Fiction',96,27.0,2022);
INSERT INTO "Book" VALUES(11,'Orchard Tales',3,'Cooking',230,12.0,2016);
INSERT INTO "Book" VALUES(12,'Silent Quarry',1,'Fiction',410,31.0,2018);
INSERT INTO "Book" VALUES(13,'Small Hours',9,'Mystery',320,14.99,2021);
INSERT INTO "Book" VALUES(14,'Night Ferry to Varna',5,'Science',512,26.0,2019);
INSERT INTO "Book" VALUES(15,'The Tin Violin',3,'Science',240,15.5,2017);
INSERT INTO "Book" VALUES(16,'Frontier of Looms',10,'History',312,23.0,2009);
INSERT INTO "Book" VALUES(17,'Desert Compass',7,'Fiction',498,17.25,2001);
INSERT INTO "Book" VALUES(18,'Harbor Lights Cookbook',9,'Travel',298,11.5,1998);
INSERT INTO "Book" VALUES(19,'Equations of Rain',4,'History',365,20.0,2012);
INSERT INTO "Book" VALUES(20,'Red Clay Roads',1,'Fiction',210,24.5,2015);
INSERT INTO "Book" VALUES(21,'A Quiet Algorithm',4,'History',256,29.95,2007);
INSERT INTO "Book" VALUES(22,'Under Northern Skies',5,'Science',344,18.0,2003);
CREATE TABLE "Branch" (
  "Branch_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Open_Year" INTEGER,
  "Floor_Area" REAL
);
INSERT INTO "Branch" VALUES(1,'Central Library','Greenfield',1989,1250.5);
INSERT INTO "Branch" VALUES(2,'Northgate Branch','Lakeview',2012,1420.0);
INSERT INTO "Branch" VALUES(3,'Harbor Point Library','Lakeview',1998,3100.0);
INSERT INTO "Branch" VALUES(4,'Sunset Reading Room','Greenfield',1962,720.5);
INSERT INTO "Branch" VALUES(5,'Maple Street Library','Brookvale',2005,860.0);
INSERT INTO "Branch" VALUES(6,'Cedar Hill Library','Port Alden',1975,1600.0);
INSERT INTO "Branch" VALUES(7,'Old Mill Branch','Lakeview',1931,430.0);
INSERT INTO "Branch" VALUES(8,'Riverside Branch','Port Alden',2018,980.0);
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
INSERT INTO "Loan" VALUES(1,7,2,8,'2024-02-19',9);
INSERT INTO "Loan" VALUES(2,7,6,1,'2023-09-03',21);
INSERT INTO "Loan" VALUES(3,5,7,3,'2023-02-05',27);
INSERT INTO "Loan" VALUES(4,1,1,7,'2023-10-27',NULL);
INSERT INTO "Loan" VALUES(5,14,7,2,'2024-05-21',21);
INSERT INTO "Loan" VALUES(6,18,14,6,'2024-03-08',12);
INSERT INTO "Loan" VALUES(7,6,10,4,'2024-01-13',21);
INSERT INTO "Loan" VALUES(8,3,10,4,'2024-02-24',18);
INSERT INTO "Loan" VALUES(9,3,4,1,'2023-04-07',17);
INSERT INTO "Loan" VALUES(10,6,1,1,'2023-05-13',18);
INSERT INTO "Loan" VALUES(11,2,3,8,'2023-11-10',17);
INSERT INTO "Loan" VALUES(12,5,9,8,'2024-01-04',4);
INSERT INTO "Loan" VALUES(13,15,7,5,'2024-02-15',23);
INSERT INTO "Loan" VALUES(14,8,4,7,'2023-10-01',5);
INSERT INTO "Loan" VALUES(15,7,11,3,'2024-05-10',NULL);
INSERT INTO "Loan" VALUES(16,6,13,7,'2023-12-09',5);
INSERT INTO "Loan" VALUES(17,4,1,7,'2023-05-05',15);
INSERT INTO "Loan" VALUES(18,16,11,2,'2024-03-13',21);
INSERT INTO "Loan" VALUES(19,7,9,8,'2023-08-17',16);
INSERT INTO "Loan" VALUES(20,4,13,8,'2023-07-03',3);
INSERT INTO "Loan" VALUES(21,4,1,8,'2024-05-05',11);
INSERT INTO "Loan" VALUES(22,11,11,5,'2023-01-03',28);
INSERT INTO "Loan" VALUES(23,8,3,6,'2024-03-20',10);
INSERT INTO "Loan" VALUES(24,6,1,4,'2023-10-13',NULL);
INSERT INTO "Loan" VALUES(25,8,2,1,'2024-04-17',4);
INSERT INTO "Loan" VALUES(26,18,13,4,'2023-08-21',4);
INSERT INTO "Loan" VALUES(27,1,7,7,'2024-04-20',13);
INSERT INTO "Loan" VALUES(28,1,9,2,'2024-04-26',22);
INSERT INTO "Loan" VALUES(29,7,14,5,'2023-11-20',11);
INSERT INTO "Loan" VALUES(30,15,12,2,'2023-06-03',23);
CREATE TABLE "Member" (
  "Member_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Membership_Type" TEXT,
  "Home_Branch_ID" INTEGER,
  FOREIGN KEY ("Home_Branch_ID") REFERENCES "Branch"("Branch_ID")
);
INSERT INTO "Member" VALUES(1,'Ava Thornton',67,'Standard',1);
INSERT INTO "Member" VALUES(2,'Chloe Reyes',51,'Student',3);
INSERT INTO "Member" VALUES(3,'Oscar Lindgren',55,'Standard',5);
INSERT INTO "Member" VALUES(4,'Julia Carvalho',38,'Student',4);
INSERT INTO "Member" VALUES(5,'Elena Petrova',21,'Senior',8);
INSERT INTO "Member" VALUES(6,'Farah Haddad',72,'Standard',5);
INSERT INTO "Member" VALUES(7,'Ben Okafor',34,'Premium',3);
INSERT INTO "Member" VALUES(8,'Laura Bianchi',22,'Student',2);
INSERT INTO "Member" VALUES(9,'Daniel Kowalski',30,'Premium',7);
INSERT INTO "Member" VALUES(10,'George Whitfield',27,'Senior',1);
INSERT INTO "Member" VALUES(11,'Isaac Mendel',24,'Premium',8);
INSERT INTO "Member" VALUES(12,'Priya Nair',63,'Premium',8);
INSERT INTO "Member" VALUES(13,'Hana Sato',41,'Senior',2);
INSERT INTO "Member" VALUES(14,'Nadia Karim',19,'Standard',6);
INSERT INTO "Member" VALUES(15,'Kofi Mensah',45,'Student',1);
INSERT INTO "Member" VALUES(16,'Marco Rossi',29,NULL,3);
COMMIT;
