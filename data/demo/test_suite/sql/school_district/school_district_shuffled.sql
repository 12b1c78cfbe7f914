BEGIN TRANSACTION;
CREATE TABLE "Course" (
  "Course_ID" INTEGER PRIMARY KEY,
  "Title" TEXT,
  "Teacher_ID" INTEGER,
  "Credits" INTEGER,
  FOREIGN KEY ("Teacher_ID") REFERENCES "Teacher"("Teacher_ID")
);
INSERT INTO "Course" VALUES(1,'Marine Biology',5,1);
INSERT INTO "Course" VALUES(2,'Electricity and Magnetism',13,2);
INSERT INTO "Course" VALUES(3,'Organic Chemistry',6,4);
INSERT INTO "Course" VALUES(4,'Intro to Programming',12,3);
INSERT INTO "Course" VALUES(5,'Creative Writing',2,3);
INSERT INTO "Course" VALUES(6,'World History',3,4);
INSERT INTO "Course" VALUES(7,'Algebra II',10,3);
INSERT INTO "Course" VALUES(8,'Statistics',8,3);
INSERT INTO "Course" VALUES(9,'Mechanics',7,3);
INSERT INTO "Course" VALUES(10,'Conversational French',4,5);
INSERT INTO "Course" VALUES(11,'Choir',9,4);
INSERT INTO "Course" VALUES(12,'Calculus',1,4);
CREATE TABLE "Course_Enrollment" (
  "Enrollment_ID" INTEGER PRIMARY KEY,
  "Student_ID" INTEGER,
  "Course_ID" INTEGER,
  "Score" INTEGER,
  FOREIGN KEY ("Student_ID") REFERENCES "Student"("Student_ID"),
  FOREIGN KEY ("Course_ID") REFERENCES "Course"("Course_ID")
);
INSERT INTO "Course_Enrollment" VALUES(1,17,10,98);
INSERT INTO "Course_Enrollment" VALUES(2,3,11,72);
INSERT INTO "Course_Enrollment" VALUES(3,1,6,99);
INSERT INTO "Course_Enrollment" VALUES(4,16,6,59);
INSERT INTO "Course_Enrollment" VALUES(5,20,7,73);
INSERT INTO "Course_Enrollment" VALUES(6,9,8,72);
INSERT INTO "Course_Enrollment" VALUES(7,7,1,85);
INSERT INTO "Course_Enrollment" VALUES(8,11,5,75);
INSERT INTO "Course_Enrollment" VALUES(9,13,8,71);
INSERT INTO "Course_Enrollment" VALUES(10,7,3,52);
INSERT INTO "Course_Enrollment" VALUES(11,7,7,70);
INSERT INTO "Course_Enrollment" VALUES(12,2,2,58);
INSERT INTO "Course_Enrollment" VALUES(13,1,3,NULL);
INSERT INTO "Course_Enrollment" VALUES(14,9,7,NULL);
INSERT INTO "Course_Enrollment" VALUES(15,4,8,52);
INSERT INTO "Course_Enrollment" VALUES(16,16,6,56);
INSERT INTO "Course_Enrollment" VALUES(17,6,9,79);
INSERT INTO "Course_Enrollment" VALUES(18,8,6,72);
INSERT INTO "Course_Enrollment" VALUES(19,18,10,91);
INSERT INTO "Course_Enrollment" VALUES(20,12,5,97);
INSERT INTO "Course_Enrollment" VALUES(21,2,8,94);
INSERT INTO "Course_Enrollment" VALUES(22,7,2,98);
INSERT INTO "Course_Enrollment" VALUES(23,19,9,77);
INSERT INTO "Course_Enrollment" VALUES(24,3,5,56);
INSERT INTO "Course_Enrollment" VALUES(25,15,1,77);
INSERT INTO "Course_Enrollment" VALUES(26,16,3,81);
INSERT INTO "Course_Enrollment" VALUES(27,20,11,91);
INSERT INTO "Course_Enrollment" VALUES(28,10,3,84);
INSERT INTO "Course_Enrollment" VALUES(29,10,8,75);
INSERT INTO "Course_Enrollment" VALUES(30,7,11,78);
CREATE TABLE "School" (
  "School_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "District" TEXT,
  "Founded" INTEGER,
  "Enrollment" INTEGER
);
INSERT INTO "School" VALUES(1,'Lakeshore High','South',2015,950);
INSERT INTO "School" VALUES(2,'Riverbend Academy','North',1985,310);
INSERT INTO "School" VALUES(3,'Hillcrest High','North',1921,680);
INSERT INTO "School" VALUES(4,'Summit Preparatory','West',2003,1240);
INSERT INTO "School" VALUES(5,'Meadowbrook High','West',1972,1510);
INSERT INTO "School" VALUES(6,'Oakridge Secondary','South',1968,1105);
INSERT INTO "School" VALUES(7,'Granite Falls Academy','East',1957,560);
INSERT INTO "School" VALUES(8,'Pine Valley School','East',1994,420);
CREATE TABLE "Student" (
  "Student_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Grade" INTEGER,
  "School_ID" INTEGER,
  "GPA" REAL,
  FOREIGN KEY ("School_ID") REFERENCES "School"("School_ID")
);
INSERT INTO "Student" VALUES(1,'Quinn Harper',11,2,NULL);
INSERT INTO "Student" VALUES(2,'Piper Hale',12,6,2.4);
INSERT INTO "Student" VALUES(3,'Jade Wilson',12,3,3.1);
INSERT INTO "Student" VALUES(4,'Xena Brooks',9,5,3.05);
INSERT INTO "Student" VALUES(5,'Aiden Cole',9,8,3.6);
INSERT INTO "Student" VALUES(6,'Holly Baker',9,5,3.45);
INSERT INTO "Student" VALUES(7,'Will Foster',11,4,3.75);
INSERT INTO "Student" VALUES(8,'Vera Klein',11,8,3.2);
INSERT INTO "Student" VALUES(9,'Lena Sommer',12,3,2.5);
INSERT INTO "Student" VALUES(10,'Nora Ellis',12,2,2.7);
INSERT INTO "Student" VALUES(11,'Bella Nguyen',9,7,2.9);
INSERT INTO "Student" VALUES(12,'Owen Patel',9,1,3.5);
INSERT INTO "Student" VALUES(13,'Caleb Ford',10,4,3.0);
INSERT INTO "Student" VALUES(14,'Mason Reid',9,6,3.7);
INSERT INTO "Student" VALUES(15,'Kyle Burke',10,4,3.8);
INSERT INTO "Student" VALUES(16,'Umar Aziz',11,4,2.8);
INSERT INTO "Student" VALUES(17,'Tara Singh',12,2,3.4);
INSERT INTO "Student" VALUES(18,'Sam Turner',12,7,2.6);
INSERT INTO "Student" VALUES(19,'Daisy Moreno',11,1,3.9);
INSERT INTO "Student" VALUES(20,'Fiona Grant',9,6,3.85);
INSERT INTO "Student" VALUES(21,'Ethan Shaw',10,1,3.3);
INSERT INTO "Student" VALUES(22,'Gavin Li',10,3,3.1);
INSERT INTO "Student" VALUES(23,'Yusuf Ali',10,7,3.95);
INSERT INTO "Student" VALUES(24,'Ian Murphy',10,7,3.0);
INSERT INTO "Student" VALUES(25,'Rosa Diaz',11,1,3.9);
CREATE TABLE "Teacher" (
  "Teacher_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "School_ID" INTEGER,
  "Subject" TEXT,
  "Hire_Year" INTEGER,
  "Salary" REAL,
  FOREIGN KEY ("School_ID") REFERENCES "School"("School_ID")
);
INSERT INTO "Teacher" VALUES(1,'Daniel Park',6,'Chemistry',2011,60500.0);
INSERT INTO "Teacher" VALUES(2,'Yara Costa',2,'Physics',1999,59000.0);
INSERT INTO "Teacher" VALUES(3,'Rebecca Lowell',1,'English',2015,67500.0);
INSERT INTO "Teacher" VALUES(4,'Sophie Laurent',3,'Mathematics',2001,72000.0);
INSERT INTO "Teacher" VALUES(5,'Leila Nasser',7,'English',2018,58500.0);
INSERT INTO "Teacher" VALUES(6,'Martha Quill',2,'Physics',2021,NULL);
INSERT INTO "Teacher" VALUES(7,'Hugo Brandt',4,'Music',2019,62500.0);
INSERT INTO "Teacher" VALUES(8,'Carlos Vega',8,'Mathematics',2016,64000.0);
INSERT INTO "Teacher" VALUES(9,'Fatima Zahra',1,'Art',2009,63000.0);
INSERT INTO "Teacher" VALUES(10,'Paul Whitaker',4,'Mathematics',2013,50500.0);
INSERT INTO "Teacher" VALUES(11,'Ingrid Holm',6,'History',2008,61000.0);
INSERT INTO "Teacher" VALUES(12,'Gregory Hines',3,'Computer Science',2012,55000.0);
INSERT INTO "Teacher" VALUES(13,'Ryan O''Connell',5,'French',2020,49500.0);
INSERT INTO "Teacher" VALUES(14,'Tunde Bakare',7,'Biology',1996,52000.0);
INSERT INTO "Teacher" VALUES(15,'Ellen Marsh',1,'History',2005,57000.0);
COMMIT;
