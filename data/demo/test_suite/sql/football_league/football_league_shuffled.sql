BEGIN TRANSACTION;
CREATE TABLE "Club" (
  "Club_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Founded" INTEGER,
  "Stadium_Capacity" INTEGER
);
INSERT INTO "Club" VALUES(1,'Ashford Rovers','Thornbury',1910,21000);
INSERT INTO "Club" VALUES(2,'Marlow Athletic','Kingsbridge',1935,52000);
INSERT INTO "Club" VALUES(3,'Westmoor FC','Eastvale',1878,32000);
INSERT INTO "Club" VALUES(4,'Kingsbridge Albion','Harlow',1902,18500);
INSERT INTO "Club" VALUES(5,'Kingsbridge United','Kingsbridge',1947,24000);
INSERT INTO "Club" VALUES(6,'Eastvale City','Westmoor',1889,27500);
INSERT INTO "Club" VALUES(7,'Harlow Vale','Redcliff',2001,12000);
INSERT INTO "Club" VALUES(8,'Eastvale Harriers','Marlow',1968,15000);
INSERT INTO "Club" VALUES(9,'Thornbury Wanderers','Eastvale',1921,9500);
INSERT INTO "Club" VALUES(10,'Redcliff Town','Ashford',1899,41500);
CREATE TABLE "Coach" (
  "Coach_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Club_ID" INTEGER,
  "Nationality" TEXT,
  "Years_Experience" INTEGER,
  FOREIGN KEY ("Club_ID") REFERENCES "Club"("Club_ID")
);
INSERT INTO "Coach" VALUES(1,'Viktor Hale',3,'Italy',11);
INSERT INTO "Coach" VALUES(2,'Luis Moreno',4,'Scotland',3);
INSERT INTO "Coach" VALUES(3,'Sven Aalto',9,'England',8);
INSERT INTO "Coach" VALUES(4,'Paolo Santini',5,'England',12);
INSERT INTO "Coach" VALUES(5,'Michael Grant',10,'Germany',6);
INSERT INTO "Coach" VALUES(6,'Declan O''Shea',7,'Spain',18);
INSERT INTO "Coach" VALUES(7,'Hans Weber',8,'Ireland',9);
INSERT INTO "Coach" VALUES(8,'Peter Quinn',6,'England',15);
INSERT INTO "Coach" VALUES(9,'Graham Holt',2,'Portugal',4);
INSERT INTO "Coach" VALUES(10,'Ricardo Alves',1,'Finland',22);
CREATE TABLE "Fixture" (
  "Fixture_ID" INTEGER PRIMARY KEY,
  "Season" TEXT,
  "Home_Club_ID" INTEGER,
  "Away_Club_ID" INTEGER,
  "Home_Goals" INTEGER,
  "Away_Goals" INTEGER,
  "Attendance" INTEGER,
  FOREIGN KEY ("Home_Club_ID") REFERENCES "Club"("Club_ID"),
  FOREIGN KEY ("Away_Club_ID") REFERENCES "Club"("Club_ID")
);
INSERT INTO "Fixture" VALUES(1,'2023-24',1,7,2,0,19800);
INSERT INTO "Fixture" VALUES(2,'2023-24',5,5,1,2,27300);
INSERT INTO "Fixture" VALUES(3,'2022-23',3,3,0,0,34400);
INSERT INTO "Fixture" VALUES(4,'2022-23',7,8,4,2,29100);
INSERT INTO "Fixture" VALUES(5,'2023-24',2,6,2,1,8200);
INSERT INTO "Fixture" VALUES(6,'2023-24',5,2,2,0,NULL);
INSERT INTO "Fixture" VALUES(7,'2022-23',3,3,2,1,21300);
INSERT INTO "Fixture" VALUES(8,'2023-24',10,10,2,0,37000);
INSERT INTO "Fixture" VALUES(9,'2022-23',4,6,1,2,9500);
INSERT INTO "Fixture" VALUES(10,'2023-24',9,9,0,1,47500);
INSERT INTO "Fixture" VALUES(11,'2022-23',4,7,1,1,34800);
INSERT INTO "Fixture" VALUES(12,'2022-23',9,9,1,1,11500);
INSERT INTO "Fixture" VALUES(13,'2023-24',10,1,2,2,NULL);
INSERT INTO "Fixture" VALUES(14,'2023-24',6,9,2,0,36800);
INSERT INTO "Fixture" VALUES(15,'2023-24',1,1,4,2,42700);
INSERT INTO "Fixture" VALUES(16,'2022-23',10,2,0,1,19200);
INSERT INTO "Fixture" VALUES(17,'2022-23',6,7,1,2,26200);
INSERT INTO "Fixture" VALUES(18,'2023-24',6,1,3,3,36900);
INSERT INTO "Fixture" VALUES(19,'2022-23',3,4,1,2,39200);
INSERT INTO "Fixture" VALUES(20,'2022-23',9,2,3,1,27300);
INSERT INTO "Fixture" VALUES(21,'2022-23',2,3,0,0,16400);
INSERT INTO "Fixture" VALUES(22,'2023-24',1,10,4,0,23300);
INSERT INTO "Fixture" VALUES(23,'2022-23',2,7,1,1,36500);
INSERT INTO "Fixture" VALUES(24,'2023-24',9,2,1,0,9600);
CREATE TABLE "Player" (
  "Player_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Club_ID" INTEGER,
  "Position" TEXT,
  "Age" INTEGER,
  "Nationality" TEXT,
  "Goals" INTEGER,
  "Market_Value" REAL,
  FOREIGN KEY ("Club_ID") REFERENCES "Club"("Club_ID")
);
INSERT INTO "Player" VALUES(1,'Aaron Blake',8,'Midfielder',30,'England',5,9.0);
INSERT INTO "Player" VALUES(2,'Carlos Mendes',8,'Defender',28,'Germany',0,3.5);
INSERT INTO "Player" VALUES(3,'Andre Costa',4,'Forward',35,'Portugal',17,8.0);
INSERT INTO "Player" VALUES(4,'Pierre Lamarche',10,'Midfielder',29,'Netherlands',3,7.0);
INSERT INTO "Player" VALUES(5,'Nico Ferraro',6,'Midfielder',31,'Bulgaria',14,9.5);
INSERT INTO "Player" VALUES(6,'Rhys Morgan',2,'Midfielder',19,'Germany',1,4.5);
INSERT INTO "Player" VALUES(7,'Ivan Petrov',1,'Forward',28,'England',1,NULL);
INSERT INTO "Player" VALUES(8,'Bram Jansen',2,'Forward',26,'Italy',8,12.0);
INSERT INTO "Player" VALUES(9,'Callum Reid',4,'Forward',24,'Scotland',4,5.0);
INSERT INTO "Player" VALUES(10,'Samuel Adeyemi',7,'Defender',26,'Ireland',1,21.0);
INSERT INTO "Player" VALUES(11,'Erik Lund',5,'Goalkeeper',25,'Spain',7,10.0);
INSERT INTO "Player" VALUES(12,'Ryan Fletcher',10,'Defender',27,'Nigeria',0,6.5);
INSERT INTO "Player" VALUES(13,'Felix Adler',5,'Defender',23,'Sweden',6,11.0);
INSERT INTO "Player" VALUES(14,'Tobias Brenner',2,'Midfielder',32,'Japan',11,1.5);
INSERT INTO "Player" VALUES(15,'Diego Salcedo',7,'Goalkeeper',29,'Netherlands',2,10.5);
INSERT INTO "Player" VALUES(16,'Tom Ashworth',2,'Goalkeeper',20,'England',0,23.5);
INSERT INTO "Player" VALUES(17,'Marcus Bell',5,'Defender',25,'Brazil',9,18.5);
INSERT INTO "Player" VALUES(18,'Yusuf Demir',3,'Midfielder',24,'England',0,3.0);
INSERT INTO "Player" VALUES(19,'Owen Hartley',6,'Midfielder',31,'England',0,6.0);
INSERT INTO "Player" VALUES(20,'Mehdi Amrani',3,'Defender',22,'Morocco',2,8.5);
INSERT INTO "Player" VALUES(21,'Mateus Lima',10,'Forward',30,'Croatia',2,2.5);
INSERT INTO "Player" VALUES(22,'Arne Vos',3,'Midfielder',24,'Brazil',13,6.0);
INSERT INTO "Player" VALUES(23,'Leon Okoro',1,'Goalkeeper',26,'France',6,12.5);
INSERT INTO "Player" VALUES(24,'Jack Whitmore',1,'Defender',33,'Turkey',10,25.0);
INSERT INTO "Player" VALUES(25,'Liam Dorsey',4,'Forward',21,'England',3,7.5);
INSERT INTO "Player" VALUES(26,'Jonah Pike',1,'Midfielder',27,'Wales',12,4.5);
INSERT INTO "Player" VALUES(27,'Kai Nakamura',4,'Forward',28,'Nigeria',19,14.0);
INSERT INTO "Player" VALUES(28,'Stefan Novak',7,'Goalkeeper',23,'England',0,4.0);
COMMIT;
